package dev.tandem.runtime.exec;

import dev.tandem.kernels.WeightMatrix;
import dev.tandem.runtime.compiler.DeviceGroup;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.DeviceBuffer;
import dev.tandem.runtime.device.DeviceClaim;
import dev.tandem.runtime.device.DeviceWeights;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One pipeline stage of a plan's forward ({@link PlanForward}, {@link BatchPlanForward}): its device,
 * what lives on it, and the lock that lets two micro-batches share it. A device runs one op at a
 * time: a micro-batch holds the lock for the whole op (start event, op, end event), so an emulator's
 * cycle count between the two events is that op's alone, while the other micro-batch runs on another
 * stage's device. A single-stream forward uses slot 0 and takes no lock.
 */
final class Stage {
    final String label;
    final DeviceGroup group;
    final Device device;
    final boolean ownsDevice;
    // Fair, so two micro-batches waiting for one device take turns in the order they arrived.
    final ReentrantLock lock = new ReentrantLock(true);
    final List<AutoCloseable> owned = new ArrayList<>();
    final Map<WeightMatrix, DeviceWeights> uploaded = new IdentityHashMap<>();
    DeviceClaim claim;
    final DeviceBuffer[] x = new DeviceBuffer[2];  // per micro-batch (rows, dim): the residual stream of its rows
    DeviceBuffer finalNorm, heads, logits;         // (dim), (headRows, dim), (headRows, vocab): only where a head runs
    boolean runsHead;                              // sized for in the capacity check

    Stage(String label, DeviceGroup group, Device device, boolean ownsDevice) {
        this.label = label;
        this.group = group;
        this.device = device;
        this.ownsDevice = ownsDevice;
    }

    DeviceWeights upload(WeightMatrix m) {
        return uploaded.computeIfAbsent(m, k -> own(device.upload(k)));
    }

    DeviceBuffer buffer(long floats) {
        return own(device.allocate(floats));
    }

    <T extends AutoCloseable> T own(T resource) {
        owned.add(resource);
        return resource;
    }

    /** Frees what was placed, releases the claim, closes the device if this stage opened it; the first failure is returned. */
    RuntimeException close() {
        RuntimeException first = null;
        for (int j = owned.size() - 1; j >= 0; j--) {
            try {
                owned.get(j).close();
            } catch (Exception e) {
                first = first != null ? first : e instanceof RuntimeException r ? r : new IllegalStateException(e);
            }
        }
        owned.clear();
        if (claim != null) {
            claim.close();
            claim = null;
        }
        try {
            if (ownsDevice) {
                device.close();
            }
        } catch (RuntimeException e) {
            first = first != null ? first : e;
        }
        return first;
    }
}
